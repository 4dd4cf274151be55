# A line, drawn
# The post's code at https://golden.example/a-line/, as the build ran it.
# It runs on its own after `pip install tensorflow keras numpy matplotlib`.
# Verified on TensorFlow when the page was built (KERAS_BACKEND=tensorflow chooses one, set before Keras is imported).

# %% [markdown]
# ## Added for this download: a working folder
#
# The build ran this code for [the page](https://golden.example/a-line/) with the blog's
# dataset library installed, in a new empty folder. This file runs without the library,
# after `pip install tensorflow keras numpy matplotlib`. Verified on TensorFlow when the
# page was built (KERAS_BACKEND=tensorflow chooses one, set before Keras is imported).
#
# The next cell moves to a new temporary folder, as the build did, so that files the code
# writes land there and not in your folder; the folder is deleted when Python exits.

# %%
# Files the code writes go to a temporary folder, deleted when Python exits.
import os
import tempfile

_workdir = tempfile.TemporaryDirectory(prefix="a-line-", ignore_cleanup_errors=True)
os.chdir(_workdir.name)

# %% [markdown]
# # A line, drawn
#
# A straight line through five points, as a figure under the code.

# %%
import numpy as np
import random

random.seed(0)
np.random.seed(0)

# %%
import matplotlib.pyplot as plt
import numpy as np
xs = np.arange(5)
plt.plot(xs, 2 * xs, marker="o")
plt.show()

# %% [markdown]
# The last point is at x = 4.
