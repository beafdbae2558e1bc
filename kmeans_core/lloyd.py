"""Lloyd's algorithm: every iteration computes the distance from every point to every center."""

from kmeans_core._kernels.common import padded_to_tiles, transposed_if_few_features
from kmeans_core._kernels.lloyd import lloyd_assign_and_sum
from kmeans_core._loop import Assigner


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass."""

    def assign(self, centers, labels, sums, weights):
        centers_t = transposed_if_few_features(centers)
        changes = self.run(
            lloyd_assign_and_sum,
            self.X,
            self.sample_weight,
            centers if centers_t is not None else padded_to_tiles(centers),
            centers_t,
            self.n_blocks,
            labels,
            sums,
            weights,
        )
        return sum(changes)
