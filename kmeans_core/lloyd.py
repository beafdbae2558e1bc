"""Lloyd's algorithm: every iteration computes the distance from every point to every center."""

import numpy as np

from kmeans_core._kernels.lloyd import lloyd_assign_and_sum
from kmeans_core._loop import Assigner


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass."""

    def assign(self, centers, labels, sums, weights):
        centers_t = np.ascontiguousarray(centers.T)
        changes = self.run(
            lloyd_assign_and_sum,
            self.X,
            self.sample_weight,
            centers_t,
            self.n_blocks,
            labels,
            sums,
            weights,
        )
        return sum(changes), True
