"""BRC (Liu, Gao, Liu and Fan 2022, "Revisiting GANs by Best-Response
Constraint", arXiv 2205.10146) on the non-saturating GAN.

The generator minimises F(phi, psi*(phi)) = -E_z[log D_psi*(G_phi(z))],
psi*(phi) the discriminator's best response (a minimiser of D's loss
L_D(psi, phi)). By the implicit function theorem its gradient is

    dF/dphi = dF/dphi|_psi - (d^2 L_D / dpsi dphi)^T H^-1 dF/dpsi,

taken at D's live parameters after the iteration's ordinary D update, with
BRC's outer-product approximation of D's Hessian, H ~ g g^T + lambda I
(g = grad_psi L_D on this iteration's batches, lambda = --outer-product-lambda),
inverted in closed form (`lbt_tf.hypergradient.outer_product_solve`). The
mixed second derivative is exact (one double-backward pass).

lambda sets the correction's size: near D's optimum g ~ 0 and H^-1 ~ I /
lambda, so the correction is the generator's gradient through one plain
gradient step of 1 / lambda on D. The default, 100, is measured, not BRC's
(the paper's value was not available): on the VEEGAN ring (seed 0, 5,000
iterations, docs/RESULTS.md 1.5) lambda = 1 and 10 let the correction
dominate and push every sample off the data (0 and 1 of 8 modes), 100 and
1,000 trained (8 of 8 modes, 82.4% and 82.1% high quality).

This is `unrolled-gan --hypergradient implicit --implicit-solver
outer-product` under its own name, so that comparisons can list it. Only
BRC's GAN variant is implemented. The paper's text beyond its abstract was
not available when this was written: the approximation follows the
abstract ("an implicit gradient scheme with outer-product Hessian
approximation") and issue 24; see `lbt_tf.hypergradient` for the solver.
"""

from lbt_tf.hypergradient import Hypergradient
from lbt_tf.trainers.gan import UnrolledGAN


class BRCGAN(UnrolledGAN):
  """Unrolled GAN's machinery with the implicit, outer-product hypergradient."""

  @classmethod
  def new_hypergradient(cls, config, parts) -> Hypergradient:
    del parts
    return Hypergradient("implicit", steps=1, damping=config.outer_product_lambda,
                         solver="outer-product")

  @classmethod
  def refuse(cls, config, data):
    super().refuse(config, data)
    if (config.hypergradient, config.implicit_solver) not in (("unroll", "cg"),
                                                              ("implicit", "outer-product")):
      raise ValueError(
          "--method brc-gan always takes the implicit hypergradient with the outer-product "
          "solver; leave --hypergradient and --implicit-solver unset (for another, use "
          "--method unrolled-gan --hypergradient implicit --implicit-solver SOLVER)")
