"""Figure 1 (densities: data beside generator), Figure 2 (metric curves),
and grids of generated images."""

import re

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

BINS = 300


def smoothed_density(samples: np.ndarray, extent: float, bandwidth_bins=1.5):
  """A kernel density estimate on a grid: a histogram blurred by a Gaussian."""
  hist, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=BINS,
                              range=[[-extent, extent], [-extent, extent]])
  radius = int(4 * bandwidth_bins)
  offsets = np.arange(-radius, radius + 1)
  kernel = np.exp(-0.5 * (offsets / bandwidth_bins) ** 2)
  kernel /= kernel.sum()
  for axis in (0, 1):
    hist = np.apply_along_axis(np.convolve, axis, hist, kernel, mode="same")
  return hist.T  # imshow wants rows = y


def plot_extent(means: np.ndarray, std: float) -> float:
  return float(np.abs(means).max() + 6 * std) * 1.1


def density_figure(panels: dict, extent: float, path, title: str = ""):
  """One density panel per entry of `panels` (name -> samples [n, 2])."""
  density_grid({title: (extent, panels)}, path)


def density_grid(rows: dict, path):
  """Figure 1: one row per dataset, one density panel per sample set.

  `rows` maps a row title to (extent, {panel name: samples [n, 2]}).
  """
  width = max(len(panels) for _, panels in rows.values())
  fig, axes = plt.subplots(len(rows), width,
                           figsize=(3.2 * width, 3.4 * len(rows)), squeeze=False)
  for row_axes, (title, (extent, panels)) in zip(axes, rows.items()):
    for ax in row_axes[len(panels):]:
      ax.axis("off")
    for ax, (name, samples) in zip(row_axes, panels.items()):
      finite = samples[np.isfinite(samples).all(1)]
      # Square-root colour scale: faint modes stay visible beside strong ones.
      ax.imshow(smoothed_density(finite, extent), origin="lower", cmap="Greens",
                norm=matplotlib.colors.PowerNorm(0.5),
                extent=[-extent, extent, -extent, extent])
      ax.set_title(name)
      ax.set_xticks([])
      ax.set_yticks([])
    if title:
      row_axes[0].set_ylabel(title, fontsize=13)
  fig.tight_layout()
  save(fig, path)


CURVES = (("modes_covered", "# modes covered", "linear"),
          ("intra_mode_kl", "intra-mode KL, all modes (capped)", "log"),
          ("high_quality_percent", "% high-quality samples", "linear"))
IMAGE_CURVES = (("modes_covered", "# modes with >= 1 sample", "linear"),
                ("kl_to_uniform", "KL(mode histogram || uniform)", "log"),
                ("fid", "FID (Keras InceptionV3: this library's own)", "linear"))


def metric_curves(series: dict, path, title: str = "", coverage="modes_covered",
                  panels=CURVES, x="step"):
  """Figure 2: each metric against iterations (or, x="seconds", against
  training seconds).

  `series` maps a label to {x: [...], metric: [...]}; a metric may also
  come with a list of runs ([runs, points]) to draw a mean with a std band.
  `coverage` picks the mode-count rule ("modes_with_any_sample": VEEGAN's).
  `panels`: (metric, axis label, scale) of each panel; metrics the series
  lack are left out (and with none left, nothing is drawn).
  """
  panels = list(panels)
  if coverage != "modes_covered":
    panels[0] = (coverage, "# modes with >= 1 HQ sample", "linear")
  first = next(iter(series.values()))
  panels = [panel for panel in panels if panel[0] in first]
  if not panels:
    return
  # A comparison's rows have long names (lbt-gan[estimator=kde,...]) and may
  # be 15 or more: the legend goes below the panels, one wrapped row name per
  # entry, and lines past the 10 colours change style.
  labels = [wrapped(name) for name in series]
  columns = max(1, min(len(labels), len(panels)))
  legend_lines = sum(label.count("\n") + 1 for label in labels) / columns
  fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4 + 0.2 * legend_lines),
                           squeeze=False, layout="constrained")
  axes = axes[0]
  for ax, (key, label, scale) in zip(axes, panels):
    for i, values in enumerate(series.values()):
      steps = np.asarray(values[x])
      ys = np.atleast_2d(np.asarray(values[key], dtype=float))
      mean = np.nanmean(ys, axis=0)
      line, = ax.plot(steps, mean, color=f"C{i % 10}", linestyle=LINE_STYLES[i // 10 % 3],
                      label=labels[i])
      if len(ys) > 1:
        std = np.nanstd(ys, axis=0)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2,
                        color=line.get_color())
    ax.set_xlabel({"step": "# iterations", "seconds": "training seconds (budgeted)"}[x])
    ax.set_ylabel(label)
    ax.set_yscale(scale)
  fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
             ncols=columns, fontsize="small", frameon=False)
  if title:
    fig.suptitle(title)
  save(fig, path)


LEGEND_WIDTH = 60  # characters per line of a legend entry
LINE_STYLES = ("-", "--", ":")


def wrapped(name: str, width: int = LEGEND_WIDTH) -> str:
  """A row name (`lbt-gan[estimator=kde,bandwidth=7,...]`) in lines of at
  most `width` characters where it can, broken only after "[" or ","."""
  lines = [""]
  for piece in re.findall(r"[^,\[]+[,\[]?|[,\[]", name):
    if lines[-1] and len(lines[-1]) + len(piece) > width:
      lines.append("")
    lines[-1] += piece
  return "\n".join(lines)


GRID_SAMPLES = 64  # images in a sample grid


def image_grid(images: np.ndarray, min_side: int = 512) -> np.ndarray:
  """[n, H, W, C] images -> one [rows*H*k, cols*W*k, C] uint8 picture, row-major,
  with each image enlarged k times (nearest pixel) so that small digits are
  visible."""
  images = np.asarray(images)
  if images.dtype != np.uint8:  # [0, 1] floats
    images = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
  n, h, w, c = images.shape
  cols = int(np.ceil(np.sqrt(n)))
  rows = int(np.ceil(n / cols))
  grid = np.zeros((rows * h, cols * w, c), np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, cols)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
  scale = max(1, min_side // max(grid.shape[:2]))
  return grid.repeat(scale, axis=0).repeat(scale, axis=1)


def save_image_grid(images, path):
  grid = image_grid(images)
  if grid.shape[-1] == 1:
    _named(path, lambda: plt.imsave(path, grid[..., 0], cmap="gray", vmin=0, vmax=255))
  else:
    _named(path, lambda: plt.imsave(path, grid))


def image_panels(rows: dict, path):
  """One row per dataset, one grid of samples per method (the image Figure 1).

  `rows` maps a row title to {panel name: images [n, H, W, C]}.
  """
  width = max(len(panels) for panels in rows.values())
  fig, axes = plt.subplots(len(rows), width, figsize=(3.4 * width, 3.6 * len(rows)),
                           squeeze=False)
  for row_axes, (title, panels) in zip(axes, rows.items()):
    for ax in row_axes:
      ax.axis("off")
    for ax, (name, images) in zip(row_axes, panels.items()):
      grid = image_grid(images, min_side=0)
      ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid,
                cmap="gray" if grid.shape[-1] == 1 else None,
                interpolation="nearest")
      ax.set_title(name)
    row_axes[0].text(-0.05, 0.5, title, transform=row_axes[0].transAxes,
                     rotation=90, va="center", ha="right", fontsize=13)
  fig.tight_layout()
  save(fig, path)


def save(fig, path):
  """Write a figure; a failure (a full disk) names the file."""
  try:
    _named(path, lambda: fig.savefig(path, dpi=110))
  finally:
    plt.close(fig)


def _named(path, write):
  try:
    write()
  except OSError as e:
    raise OSError(f"could not write {path} ({e.strerror or e})") from None
