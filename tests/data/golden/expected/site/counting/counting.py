# Counting with numpy
# The post's code at https://golden.example/counting/, as the build ran it.
# It runs on its own after `pip install tensorflow keras numpy matplotlib`.
# Verified on TensorFlow when the page was built (KERAS_BACKEND=tensorflow chooses one, set before Keras is imported).

# %% [markdown]
# ## Added for this download: a working folder
#
# The build ran this code for [the page](https://golden.example/counting/) with the blog's
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

_workdir = tempfile.TemporaryDirectory(prefix="counting-", ignore_cleanup_errors=True)
os.chdir(_workdir.name)

# %% [markdown]
# # Counting with numpy
#
# An array of the first ten integers, and two things to say about it.

# %%
import numpy as np
import random

random.seed(0)
np.random.seed(0)

# %%
import numpy as np
values = np.arange(10)
print("sum:", values.sum())
print("mean:", values.mean())

# %% [markdown]
# The largest value is 9, and the values add up to
# 45.
#
# ## A second look
#
# Squares grow faster than the values themselves:

# %%
squares = values**2
print(squares[-3:])
