"""Preview a release's card as a reader sees it: README.md (without its YAML) rendered to HTML.

``python -m builder.card_preview RELEASE --html out.html [--png shot.png]``

The card body is rendered with the ``markdown`` package (``tables`` and ``fenced_code``
extensions, close to what the Hub renders), with a small inline style sheet and no outside
resources. Image paths are rewritten relative to the HTML file, so the figures under the
release's ``assets/`` show wherever the HTML is written. With ``--png``, headless Chromium
(``/usr/bin/chromium``, or ``--chromium``) takes a full-page screenshot: a first run measures
the page's height, a second takes the screenshot at that height. Chromium runs offline with a
throw-away profile.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
WIDTH = 1200
MAX_HEIGHT = 30000
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 15px;
       line-height: 1.55; color: #1f2328; margin: 0; background: #fff; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 32px 48px; }
h1, h2 { border-bottom: 1px solid #d8dee4; padding-bottom: .3em; }
h1 { font-size: 2em; } h2 { font-size: 1.5em; margin-top: 1.6em; } h3 { font-size: 1.2em; }
table { border-collapse: collapse; margin: 12px 0; display: block; overflow-x: auto;
        max-width: 100%; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 5px 10px; }
th { background: #f6f8fa; } tr:nth-child(2n) td { background: #fafbfc; }
code { background: #f3f4f6; padding: .1em .3em; border-radius: 4px; font-size: 90%; }
pre { background: #f6f8fa; padding: 12px 16px; border-radius: 6px; overflow-x: auto;
      font-size: 13px; line-height: 1.45; }
pre code { background: none; padding: 0; }
img { max-width: 100%; height: auto; }
"""
HEIGHT_MARKER = "card-preview-height"


def card_body(release: Path) -> str:
    """The README's markdown after its YAML front matter."""
    text = (release / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n.*?\n---\n", text, flags=re.S)
    return text[match.end() :] if match else text


def render_html(release: str | Path, out: str | Path) -> Path:
    """Write the card of ``release`` as an HTML page at ``out`` and return its path."""
    import markdown

    release, out = Path(release).resolve(), Path(out).resolve()
    body = markdown.markdown(card_body(release), extensions=["tables", "fenced_code"])

    def relink(match: re.Match) -> str:
        src = html.unescape(match.group(2))
        if re.match(r"^[a-z][a-z0-9+.-]*:", src, flags=re.I) or src.startswith("/"):
            return match.group(0)  # a URL or an absolute path: leave it to the browser
        target = release / src
        return match.group(1) + html.escape(Path(os.path.relpath(target, out.parent)).as_posix())

    body = re.sub(r'(<img\b[^>]*?\bsrc=")([^"]*)', relink, body)
    title = html.escape(release.name)
    page = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}: dataset card</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _chromium(chromium: str, profile: str, *arguments: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{chromium} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def page_height(page: Path, chromium: str = CHROMIUM) -> int:
    """The rendered height of ``page`` at the preview width, in CSS pixels."""
    script = (
        "<script>window.addEventListener('load', function () {"
        f"var p = document.createElement('p'); p.id = '{HEIGHT_MARKER}';"
        "p.textContent = String(document.documentElement.scrollHeight);"
        "document.body.appendChild(p); });</script>"
    )
    with tempfile.TemporaryDirectory(prefix="card-preview-") as folder:
        probe = page.with_name(f".{page.stem}-probe.html")
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>"))
        try:
            dom = _chromium(
                chromium, folder, f"--window-size={WIDTH},1000", "--virtual-time-budget=5000",
                "--dump-dom", probe.as_uri(),
            )  # fmt: skip
        finally:
            probe.unlink(missing_ok=True)
    match = re.search(rf'id="{HEIGHT_MARKER}">(\d+)<', dom)
    if not match:
        raise RuntimeError("could not measure the page's height")
    return int(match.group(1))


def screenshot(page: str | Path, png: str | Path, chromium: str = CHROMIUM) -> Path:
    """A full-page PNG screenshot of an HTML file with headless Chromium."""
    if not Path(chromium).exists() and not shutil.which(chromium):
        raise FileNotFoundError(
            f"{chromium} not found: install it (apt-get install -y chromium) or pass --chromium"
        )
    page, png = Path(page).resolve(), Path(png).resolve()
    height = min(page_height(page, chromium) + 40, MAX_HEIGHT)
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="card-preview-") as profile:
        _chromium(
            chromium, profile, f"--window-size={WIDTH},{height}", "--virtual-time-budget=5000",
            f"--screenshot={png}", page.as_uri(),
        )  # fmt: skip
    if not png.is_file():
        raise RuntimeError(f"{chromium} wrote no screenshot to {png}")
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m builder.card_preview", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("release", type=Path, help="release folder (with README.md)")
    parser.add_argument("--html", type=Path, required=True, help="HTML file to write")
    parser.add_argument("--png", type=Path, help="also take a full-page screenshot to this PNG")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"browser (default: {CHROMIUM})")
    args = parser.parse_args(argv)
    if not (args.release / "README.md").is_file():
        parser.error(f"{args.release} has no README.md")
    page = render_html(args.release, args.html)
    print(f"card: {page}")
    if args.png:
        print(f"screenshot: {screenshot(page, args.png, args.chromium)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
