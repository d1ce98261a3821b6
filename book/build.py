"""Build the tutorial as one static site: `make book` runs this; open build/book/index.html.

The site mirrors the repository's layout, so the links the README and the notebooks already
have work unchanged: index.html is the README, notebooks/NAME.html each notebook (in sorted
order of notebooks/*.ipynb, so a new notebook appears by itself), and the figures, data files
and modules they link to are copied beside them. Notebooks are converted with their committed
outputs, never re-executed (nbval guards those outputs). Math is typeset in the reader's browser
by MathJax 3 from the site's own _static/ folder (SVG output: one script, no fonts to fetch),
so a page reads the same from file:// and from any static host, with no network.

MathJax comes from the npm registry (`npm pack`, the pinned version below, checked against its
SHA-256) and is cached in build/vendor/. Nothing else is fetched; the page template extends
nbconvert's classic one, which writes each figure's alt text.

    python book/build.py [--out build/book]
"""

import argparse
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
DEFAULT_SITE = ROOT / "build" / "book"
SITE_TITLE = "EM for Gaussian mixtures"

# The renderer: MathJax 3's single-file TeX-to-SVG component (every TeX extension included).
MATHJAX_VERSION = "3.2.2"
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"  # mathjax-3.2.2.tgz
MATHJAX_FILE = "package/es5/tex-svg-full.js"


def mathjax_script(vendor):
    """The path of tex-svg-full.js, unpacked from the pinned npm tarball (fetched once into vendor/)."""
    tarball = vendor / f"mathjax-{MATHJAX_VERSION}.tgz"
    if not tarball.exists():
        if shutil.which("npm") is None:
            sys.exit("book/build.py: npm is needed once, to fetch MathJax (Debian: apt-get install npm)")
        vendor.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"mathjax@{MATHJAX_VERSION}", "--pack-destination", str(vendor), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != MATHJAX_SHA256:
        tarball.unlink()
        sys.exit(f"book/build.py: {tarball.name} has SHA-256 {digest}, expected {MATHJAX_SHA256}; removed it")
    script = vendor / f"mathjax-{MATHJAX_VERSION}-tex-svg-full.js"
    if not script.exists():
        with tarfile.open(tarball) as tar:
            script.write_bytes(tar.extractfile(MATHJAX_FILE).read())
    return script


def first_heading(text):
    """The text of the first level-1 Markdown heading, math dollars and all."""
    match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def plain(text):
    """A heading as plain text for <title>: no Markdown code marks or math dollars."""
    return re.sub(r"[`$]", "", text)


def pager(pages, index, where):
    """Previous and next links around pages[index]: short in the top bar, with titles at the foot."""
    links = []
    root = pages[index]["root"]
    for step, rel, arrow in ((-1, "prev", "← {}"), (1, "next", "{} →")):
        if 0 <= index + step < len(pages):
            other = pages[index + step]
            text = other["label"] if where == "bottom" else ("Previous" if step < 0 else "Next")
            title = html.escape(plain(other["label"]), quote=True)
            href = root + other["href"]
            links.append(f'<a class="book-{rel}" rel="{rel}" href="{href}" title="{title}">{arrow.format(text)}</a>')
    return f'<nav class="book-pager book-pager-{where}" aria-label="Previous and next page">{"".join(links)}</nav>'


HEADING = re.compile(r'<h([1-3]) id="([^"]+)">(.*?)(?:<a class="anchor-link"[^>]*>.*?</a>)?</h\1>', re.DOTALL)


def table_of_contents(page_html):
    """A nested list of the page's h1-h3 headings, linking to the ids nbconvert gave them."""
    items = []
    for level, anchor, inner in HEADING.findall(page_html):
        text = re.sub(r"</?a\b[^>]*>", "", inner).strip()
        items.append(f'<li class="toc-h{level}"><a href="#{anchor}">{text}</a></li>')
    return '<ol class="book-toc">' + "".join(items) + "</ol>"


LINK = re.compile(r'(href|src)="([^"#?:]+)([?#][^"]*)?"')


def fix_links(page_html, page_path, site, copies):
    """Point links to notebooks at their pages; note every other relative target for copying.

    A link to a folder (`data/`) gets a generated listing page; a target that is not in the
    repository is left as it is, for the browser test to report.
    """

    def replace(match):
        attribute, target, suffix = match.group(1), match.group(2), match.group(3) or ""
        if target.startswith(("/", "data:")):
            return match.group(0)
        source = (ROOT / page_path.parent / target).resolve()
        if DEFAULT_SITE in source.parents:  # the README's link to the site itself, from inside it
            return f'{attribute}="{os.path.relpath(source, DEFAULT_SITE / page_path.parent)}{suffix}"'
        if target.endswith(".html"):
            return match.group(0)
        if target.endswith(".ipynb"):
            target = target[: -len(".ipynb")] + ".html"
        elif source.is_dir():
            copies[source] = "dir"
            target = target.rstrip("/") + "/index.html"
        elif source.is_file() and ROOT in source.parents:
            copies[source] = "file"
        return f'{attribute}="{target}{suffix}"'

    return LINK.sub(replace, page_html)


def listing_page(folder, site):
    """folder/index.html in the site: the folder's files, each linked and copied."""
    relative = folder.relative_to(ROOT)
    out = site / relative
    out.mkdir(parents=True, exist_ok=True)
    root = "../" * len(relative.parts)
    rows = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            shutil.copy2(path, out / path.name)
            rows.append(f'<li><a href="{html.escape(path.name)}">{html.escape(path.name)}</a></li>')
    title = f"{relative.as_posix()}/"
    (out / "index.html").write_text(
        f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} · {SITE_TITLE}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}_static/book.css"></head>
<body class="book-listing">
<header class="book-bar"><a class="book-home" href="{root}index.html">{SITE_TITLE}</a></header>
<main><h1><code>{title}</code></h1><p>The files of the repository's <code>{title}</code> folder
(the README says where each comes from).</p><ul>{"".join(rows)}</ul></main></body></html>
""",
        encoding="utf-8",
    )


def build(out):
    started = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    static = out / "_static"
    (static / "mathjax").mkdir(parents=True)
    shutil.copy2(mathjax_script(ROOT / "build" / "vendor"), static / "mathjax" / "tex-svg-full.js")
    shutil.copy2(BOOK / "book.css", static / "book.css")

    # No In [n]: / Out[n]: prompts: on a page they only take a column of width from the text.
    exporter = HTMLExporter(
        template_name="book",
        extra_template_basedirs=[str(BOOK / "templates")],
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    # The classic page's stylesheet, once for the site instead of inlined into every page.
    classic_css = next(
        Path(d) / "classic" / "static" / "style.css"
        for d in exporter.template_paths
        if (Path(d) / "classic" / "static" / "style.css").exists()
    )
    shutil.copy2(classic_css, static / "classic.css")

    # The pages, in reading order: the README as the landing page, then notebooks/*.ipynb sorted.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    landing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(readme)])
    sources = [(Path("README.md"), landing, "index.html", "Overview")]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        heading = next((first_heading(c.source) for c in nb.cells if c.cell_type == "markdown"), None)
        label = f"{path.stem[:2]} · {heading or path.stem}" if path.stem[:2].isdigit() else heading or path.stem
        sources.append((path.relative_to(ROOT), nb, f"notebooks/{path.stem}.html", label))

    pages = [{"href": href, "label": label, "root": "../" * (href.count("/"))} for _, _, href, label in sources]
    copies = {}
    for index, (path, nb, href, label) in enumerate(sources):
        page = pages[index]
        nb.metadata["title"] = plain(label if index else first_heading(readme) or SITE_TITLE)
        resources = {
            "book": {
                "root": page["root"],
                "site_title": SITE_TITLE,
                "pages": [dict(p, current=(p is page)) for p in pages],
                "pager_top": pager(pages, index, "top"),
                "pager_bottom": pager(pages, index, "bottom"),
            }
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        body = body.replace("<!--BOOK-TOC-->", table_of_contents(body), 1)
        body = fix_links(body, path, out, copies)
        (out / href).parent.mkdir(parents=True, exist_ok=True)
        (out / href).write_text(body, encoding="utf-8")

    for source, kind in sorted(copies.items()):
        if kind == "dir":
            listing_page(source, out)
        else:
            target = out / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)

    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(
        f"book: {len(pages)} pages, {size / 2**20:.1f} MiB in {out.relative_to(ROOT) if ROOT in out.parents else out}"
        f" ({time.perf_counter() - started:.1f} s); open {out / 'index.html'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_SITE, help="the site's folder (emptied first)")
    build(parser.parse_args().out.resolve())
