"""Loading a TFDS dataset without waiting on a network that is not there.

TFDS downloads a dataset that is not prepared in its data directory, and
retries each URL ten times with exponential backoff (MAX_RETRIES in
tensorflow_datasets/core/download/downloader.py): offline, that is minutes
of warnings before it fails. Here a prepared dataset loads as it is; for
one that is not, the hosts its URLs name (TFDS's registered checksums, or
the proxy that would carry them) are tried first, a few seconds each. When
none answers, the download runs with no retries: files already in its
downloads/ or downloads/manual/ folder still serve, and anything else fails
at once with `Offline`, which names the hosts.
"""

import contextlib
import logging
import socket
import urllib.parse
import urllib.request

CONNECT_SECONDS = 5
PORTS = {"http": 80, "https": 443, "ftp": 21}


class Offline(Exception):
  """A download was needed and no host it needs answers."""

  def __init__(self, hosts):
    super().__init__(f"no network: cannot reach {', '.join(hosts)}")
    self.hosts = hosts


def load(name: str, split: str, data_dir=None, download: bool = True):
  """tfds.load(name, split=split, data_dir=data_dir, download=download),
  failing fast (`Offline`) when it must download and the network is not
  there."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  arguments = dict(split=split, data_dir=data_dir, shuffle_files=False)
  unreachable = []
  if download:
    with quiet_absl():  # "Variant folder ... has no dataset_info.json"
      builder = tfds.builder(name, data_dir=data_dir)
      prepared = getattr(builder, "is_prepared", lambda: False)()  # TFDS >= 4.9.?
      if not prepared:
        unreachable = unreachable_hosts(list(builder.url_infos or ()))
  if not unreachable:
    return tfds.load(name, download=download, **arguments)
  with no_retries(), quiet_absl():
    try:
      return tfds.load(name, download=True, **arguments)
    except Exception:  # pylint: disable=broad-except
      raise Offline(unreachable) from None


@contextlib.contextmanager
def quiet_absl():
  """TFDS's absl warnings off (errors still show)."""
  logger = logging.getLogger("absl")
  level = logger.level
  logger.setLevel(logging.ERROR)
  try:
    yield
  finally:
    logger.setLevel(level)


def endpoint(url: str):
  """(host, port) a request for `url` connects to: its proxy's, if any."""
  scheme = urllib.parse.urlparse(url).scheme
  proxy = urllib.request.getproxies().get(scheme)
  if proxy and not urllib.request.proxy_bypass(urllib.parse.urlparse(url).hostname or ""):
    url = proxy if "://" in proxy else f"http://{proxy}"
  parsed = urllib.parse.urlparse(url)
  return parsed.hostname, parsed.port or PORTS.get(parsed.scheme, 443)


def unreachable_hosts(urls, timeout: float = CONNECT_SECONDS) -> list:
  """The hosts of `urls` when none of them answers a TCP connection within
  `timeout` seconds, else [] (also for no urls: nothing to tell)."""
  hosts = sorted({endpoint(url) for url in urls if urllib.parse.urlparse(url).hostname})
  for host, port in hosts:
    try:
      socket.create_connection((host, port), timeout=timeout).close()
      return []
    except OSError:
      continue
  return [host for host, _ in hosts]


@contextlib.contextmanager
def no_retries():
  """TFDS's downloads without their retries (and without progress bars,
  which would only draw the failure).

  The retries come back only when the body succeeds. When it fails, TFDS's
  download threads (one per file) may still be starting their requests,
  and each reads MAX_RETRIES as it starts: restored then, it would let them
  retry an unreachable host ten times with exponential backoff, minutes in
  which the interpreter, at exit, waits for them after the one-line error
  (seen on a busy machine: > 120 s). After a failure this process's TFDS
  downloads stay without retries."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from tensorflow_datasets.core.download import downloader  # pylint: disable=g-import-not-at-top
  saved = getattr(downloader, "MAX_RETRIES", None)
  downloader.MAX_RETRIES = 0
  tfds.disable_progress_bar()
  try:
    yield
  finally:
    tfds.enable_progress_bar()
  downloader.MAX_RETRIES = saved  # reached only when the body succeeded
