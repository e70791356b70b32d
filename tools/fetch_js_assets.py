"""Fetch the JavaScript that bertviz's views need, so notebook 11 draws them with no network.

bertviz 1.4.1 loads require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN at run time. This
script downloads d3 5.7.0 and jQuery 2.2.4 (2.0.0 was never published on npm; 2.2.4 is the
last 2.x and works) from the npm registry once, at set-up time, checks each tarball against
the integrity hash pinned below (and the registry's own metadata), and unpacks the minified
files into a git-ignored folder, `.cache/js/` at the repository root. The files are
third-party code (jQuery: MIT, d3: BSD-3-Clause): they are never committed; their licences
are unpacked beside them. `helpers.attention_views` inlines them into each view.

    python tools/fetch_js_assets.py            # quiet when the files are already there
    python tools/fetch_js_assets.py --dest DIR --registry https://registry.npmjs.org

Exit status 0 when the files are in place, 1 (with one line saying why) when they are not.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / ".cache" / "js"
DEFAULT_REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Asset:
    """One npm package version, the file bertviz needs from it, and the pinned hashes."""

    package: str
    version: str
    member: str  # the file inside the tarball
    license_member: str
    integrity: str  # the tarball's sha512, as the registry publishes it
    sha256: str  # the unpacked file's

    @property
    def filename(self) -> str:
        """The name the file gets in the destination folder, e.g. 'd3-5.7.0.min.js'."""
        return f"{self.package}-{self.version}.min.js"


ASSETS = (
    Asset("jquery", "2.2.4", "package/dist/jquery.min.js", "package/LICENSE.txt",
          "sha512-lBHj60ezci2u1v2FqnZIraShGgEXq35qCzMv4lITyHGppTnA13rwR0MgwyNJh9TnDs3aXUvd1xjAotfraMHX/Q==",
          "05b85d96f41fff14d8f608dad03ab71e2c1017c2da0914d7c59291bad7a54f8e"),
    Asset("d3", "5.7.0", "package/dist/d3.min.js", "package/LICENSE",
          "sha512-8KEIfx+dFm8PlbJN9PI0suazrZ41QcaAufsKE9PRcqYPWLngHIyWJZX96n6IQKePGgeSu0l7rtlueSSNq8Zc3g==",
          "bdad5585ef9a965ff25458738309b006058c55f2c78d794d25fbecae35014609"),
)


class FetchError(Exception):
    """A download or a check failed; the message is the one line the user sees."""


def sha256(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sri(data: bytes) -> str:
    """`data`'s sha512 in the registry's Subresource-Integrity form, 'sha512-<base64>'."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def is_present(asset: Asset, dest: Path) -> bool:
    """True when the unpacked file is in `dest` with the pinned content."""
    path = dest / asset.filename
    return path.is_file() and sha256(path.read_bytes()) == asset.sha256


def _get(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json, */*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except OSError as e:  # URLError, HTTPError, timeouts
        raise FetchError(f"could not download {url}: {e}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def fetch(asset: Asset, dest: Path, registry: str = DEFAULT_REGISTRY, timeout: float = 60) -> None:
    """Download `asset`'s tarball, check it, and unpack its file and licence into `dest`."""
    meta = json.loads(_get(f"{registry.rstrip('/')}/{asset.package}/{asset.version}", timeout))
    dist = meta.get("dist", {})
    if dist.get("integrity") != asset.integrity:
        raise FetchError(f"{asset.package}@{asset.version}: the registry lists integrity "
                         f"{dist.get('integrity')!r}, expected the pinned {asset.integrity!r}")
    tarball = _get(dist["tarball"], timeout)
    if sri(tarball) != asset.integrity:
        raise FetchError(f"{asset.package}@{asset.version}: the tarball from {dist['tarball']} "
                         f"does not match its integrity hash")
    if "shasum" in dist and hashlib.sha1(tarball).hexdigest() != dist["shasum"]:
        raise FetchError(f"{asset.package}@{asset.version}: the tarball's sha1 does not match "
                         f"the registry's shasum")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        files = {}
        for member in (asset.member, asset.license_member):
            extracted = tar.extractfile(member)  # read into memory; nothing else is unpacked
            if extracted is None:
                raise FetchError(f"{asset.package}@{asset.version}: no {member} in the tarball")
            files[member] = extracted.read()
    if sha256(files[asset.member]) != asset.sha256:
        raise FetchError(f"{asset.package}@{asset.version}: {asset.member} does not match its "
                         f"pinned sha256")
    dest.mkdir(parents=True, exist_ok=True)
    _write_atomically(dest / f"{asset.package}-{asset.version}.LICENSE.txt",
                      files[asset.license_member])
    _write_atomically(dest / asset.filename, files[asset.member])


def main(argv: list[str] | None = None) -> int:
    """Fetch what is missing; print one line per file fetched, or one line on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help=f"folder for the files (default: {DEFAULT_DEST.relative_to(ROOT)})")
    parser.add_argument("--registry", default=os.environ.get("NPM_CONFIG_REGISTRY",
                                                             DEFAULT_REGISTRY))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per download")
    args = parser.parse_args(argv)
    for asset in ASSETS:
        if is_present(asset, args.dest):
            continue
        try:
            fetch(asset, args.dest, args.registry, args.timeout)
        except FetchError as e:
            print(f"fetch_js_assets: {e}. Notebook 11's bertviz views will load their "
                  f"JavaScript from cdnjs instead (that needs the network).", file=sys.stderr)
            return 1
        print(f"fetch_js_assets: {asset.package} {asset.version} -> "
              f"{args.dest / asset.filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
