"""The Kernels object without real kernels: longest job first, reuse, fresh kernels, the memory
budget."""

import threading

import pytest

from kernelblog import kernels
from kernelblog.kernels import GIB, Job, Kernels


class FakeKernel:
    made = []

    def __init__(self, owner, warm="", backend="tensorflow"):
        self.owner, self.warm, self.resets, self.closed, self.dead = owner, warm, 0, False, False
        self.backend = backend
        self.peak = 0
        FakeKernel.made.append(self)

    def reset(self):
        self.resets += 1

    def alive(self):
        return not self.dead

    def close(self):
        self.closed = True


@pytest.fixture
def fake(monkeypatch):
    FakeKernel.made = []
    monkeypatch.setattr(kernels, "Kernel", FakeKernel)
    return FakeKernel.made


def jobs_of(seconds, ran, lock=threading.Lock()):
    def job(s):
        def run(kernel):
            with lock:
                ran.append((s, id(kernel)))

        return Job(s, run, lambda error: ran.append(("failed", repr(error))))

    return [job(s) for s in seconds]


def test_one_kernel_runs_every_job_longest_first_and_is_reset_before_each(fake):
    ran = []
    with Kernels(1, budget=8 * GIB, warm="import keras") as pool:
        pool.run(jobs_of([1.0, 5.0, 3.0], ran))
    assert [s for s, _ in ran] == [5.0, 3.0, 1.0]
    assert (
        len(fake) == 1 and fake[0].resets == 3 and fake[0].warm == "import keras" and fake[0].closed
    )


def test_fresh_starts_a_kernel_per_job_and_a_dead_kernel_is_replaced(fake):
    ran = []
    with Kernels(1, budget=8 * GIB, fresh=True) as pool:
        pool.run(jobs_of([2.0, 1.0], ran))
    assert len({kernel for _, kernel in ran}) == 2 and all(k.closed for k in fake)

    fake.clear()
    ran = []

    def dies(kernel):
        kernel.dead = True

    with Kernels(1, budget=8 * GIB) as pool:
        pool.run([Job(9.0, dies, print)] + jobs_of([1.0], ran))
    assert len(fake) == 2 and ran == [(1.0, id(fake[1]))]


def test_the_budget_limits_how_many_kernels_run_at_once():
    assert Kernels(4, budget=8 * GIB, expected=int(3 * GIB)).limit == 2
    assert Kernels(4, budget=1 * GIB, expected=int(3 * GIB)).limit == 1
    assert Kernels(2, budget=64 * GIB).limit == 2


def test_a_kernel_that_cannot_start_fails_its_jobs(monkeypatch):
    def cannot(owner, warm="", backend="tensorflow"):
        raise kernels.KernelFailed("the kernel could not start: no python3")

    monkeypatch.setattr(kernels, "Kernel", cannot)
    ran = []
    with Kernels(1, budget=8 * GIB) as pool:
        pool.run(jobs_of([1.0, 2.0], ran))
    assert ran == [("failed", "KernelFailed('the kernel could not start: no python3')")] * 2
