"""The site (`make book`) as a reader sees it: every page opened from disk in headless Chromium
with the network off, at 1,280 px.

The site is built into a temporary folder from the committed notebooks (a few seconds); set
BOOK_SITE=path to check another folder of HTML pages instead (e.g. an nbconvert export).
Chromium is Debian's package: `make test` installs it when it is missing and make runs as root.
Without it these tests fail under CI (CI=true) and are skipped, saying so, elsewhere.
BOOK_SCREENSHOTS=folder also saves a screenshot of the top of each page there.
"""

import collections
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 900

# TeX a reader should never see: display delimiters, a control word (\frac, \mathcal, \theta, ...),
# \( \) \[ \], or an inline $...$ pair. Code, printed output and typeset math are not searched.
RAW_TEX = re.compile(r"\$\$|\\[A-Za-z]+|\\[()\[\]]|\$[^$\s](?:[^$\n]{0,200}[^$\s])?\$")


def chromium_path():
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    if os.environ.get("BOOK_SITE"):
        return Path(os.environ["BOOK_SITE"]).resolve()
    out = tmp_path_factory.mktemp("book")
    subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--out", str(out)], check=True, cwd=ROOT)
    return out


def site_pages(site):
    return sorted(site.rglob("*.html"))


# Run in each page once it has loaded and MathJax (if any) has finished: what a reader sees.
INSPECT = """() => {
  const skip = 'pre, code, kbd, samp, script, style, textarea, mjx-container';
  const text = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip) && node.nodeValue.trim()) text.push(node.nodeValue);
  }
  const describe = (el) => {
    const label = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    return label + ' "' + (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 60) + '"';
  };
  const viewport = document.documentElement.clientWidth;
  const clipped = [];
  for (const el of document.querySelectorAll('body, body *')) {
    const style = getComputedStyle(el);
    const hides = ['hidden', 'clip'].includes(style.overflowX);
    // Hidden on purpose, for screen readers only (MathJax's MathML copy of each equation): a CSS clip.
    const forScreenReaders = style.clip !== 'auto' && style.position === 'absolute';
    const box = el.getBoundingClientRect();
    if (hides && !forScreenReaders && el.scrollWidth > el.clientWidth + 1 && box.width > 1 && box.height > 1) {
      clipped.push(describe(el));
    }
  }
  return {
    text: text.join(' '),
    mathErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(
      (el) => el.getAttribute('data-mjx-error') || el.textContent),
    math: document.querySelectorAll('mjx-container').length,
    images: [...document.images].map((img) => ({
      src: img.currentSrc.slice(0, 80), alt: img.getAttribute('alt'), complete: img.complete,
      natural: img.naturalWidth * img.naturalHeight, shown: img.getBoundingClientRect().width,
    })),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    ids: [...document.querySelectorAll('[id], a[name]')].map((el) => el.id || el.getAttribute('name')),
    viewport, pageWidth: document.documentElement.scrollWidth, clipped,
  };
}"""

SETTLE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await Promise.all([...document.images].map((img) => img.complete ? null :
    new Promise((done) => { img.addEventListener('load', done); img.addEventListener('error', done); })));
}"""


def network_off(record):
    """A route handler: files load, anything else is refused and noted in record["network"]."""

    def route(request_route):  # one argument: Playwright passes the request too to a handler that takes two
        url = request_route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            request_route.continue_()
        else:
            record["network"].append(url[:100])
            request_route.abort()

    return route


@pytest.fixture(scope="session")
def visits(site):
    """Open every page of the site once; return {page: what the reader saw, and what went wrong}."""
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium is not installed, so the site was not checked in a browser: `make test` installs "
            "Debian's chromium when run as root; otherwise `apt-get install chromium`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    pages = site_pages(site)
    assert pages, f"no HTML pages in {site}"
    shots = Path(os.environ["BOOK_SCREENSHOTS"]) if os.environ.get("BOOK_SCREENSHOTS") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, offline=True)
        for path in pages:
            record = {"console": [], "network": []}

            page = context.new_page()
            page.route("**/*", network_off(record))
            page.on("console", lambda m, r=record: m.type == "error" and r["console"].append(m.text[:200]))
            page.on("pageerror", lambda e, r=record: r["console"].append(f"uncaught: {str(e)[:200]}"))
            page.on(
                "requestfailed",
                lambda q, r=record: r["console"].append(f"failed to load {q.url[:100]}: {q.failure}"),
            )
            page.goto(path.as_uri(), wait_until="load", timeout=30_000)
            page.evaluate(SETTLE)
            record.update(page.evaluate(INSPECT))
            if shots:
                page.screenshot(path=str(shots / f"{path.relative_to(site).as_posix().replace('/', '_')}.png"))
            page.close()
            seen[path] = record
        browser.close()
    return seen


def report(problems):
    return "\n".join(f"{page}: {what}" for page, what in problems)


def test_site_has_a_landing_page_and_a_page_per_notebook_with_navigation(site):
    assert (site / "index.html").is_file(), f"no landing page index.html in {site}"
    problems = []
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for number, notebook in enumerate(notebooks):
        page = site / "notebooks" / f"{notebook.stem}.html"
        if not page.is_file():
            problems.append((page.relative_to(site), "missing"))
            continue
        html = page.read_text(encoding="utf-8")
        if 'rel="prev"' not in html:
            problems.append((page.relative_to(site), "no link to the previous page"))
        if number + 1 < len(notebooks) and 'rel="next"' not in html:
            problems.append((page.relative_to(site), "no link to the next page"))
        if not re.search(r'class="book-toc"><li', html):
            problems.append((page.relative_to(site), "no table of contents"))
    landing = (site / "index.html").read_text(encoding="utf-8")
    for notebook in notebooks:
        if f'href="notebooks/{notebook.stem}.html"' not in landing:
            problems.append(("index.html", f"no link to notebooks/{notebook.stem}.html"))
    assert not problems, report(problems)


def test_no_raw_tex_in_the_rendered_text(visits, site):
    problems = []
    for path, seen in visits.items():
        for match in list(RAW_TEX.finditer(seen["text"]))[:5]:
            start = max(0, match.start() - 30)
            problems.append(
                (path.relative_to(site), f"raw TeX {match.group()!r} in …{seen['text'][start : match.end() + 30]}…")
            )
        problems += [(path.relative_to(site), f"MathJax error: {error}") for error in seen["mathErrors"]]
    assert not problems, report(problems)


def test_every_notebook_page_has_typeset_math(visits, site):
    notebooks = {path.stem for path in (ROOT / "notebooks").glob("*.ipynb")}
    problems = [
        (path.relative_to(site), "no typeset math at all")
        for path, seen in visits.items()
        if path.stem in notebooks and seen["math"] == 0
    ]
    assert not problems, report(problems)


def test_every_image_loads_with_a_size_and_alt_text(visits, site):
    problems = []
    for path, seen in visits.items():
        for image in seen["images"]:
            if not (image["complete"] and image["natural"] > 0 and image["shown"] > 0):
                problems.append((path.relative_to(site), f"image not shown: {image['src']}"))
            alt = (image["alt"] or "").strip()
            # nbconvert writes this placeholder for a figure shown without alt text (plt.show()):
            # it is no description, so it counts as none.
            if not alt or alt == "No description has been provided for this image":
                problems.append((path.relative_to(site), f"image without alt text: {image['src']}"))
    assert not problems, report(problems)


def test_every_internal_link_resolves_inside_the_site(visits, site):
    ids = {path: set(seen["ids"]) for path, seen in visits.items()}
    ids = collections.defaultdict(set, ids)
    problems = []
    for path, seen in visits.items():
        for href in seen["links"]:
            url = urlsplit(href)
            if url.scheme != "file":
                continue  # an outside link (the dask docs) is the reader's to follow, not the site's
            target = Path(unquote(url.path))
            if not target.is_relative_to(site):
                problems.append((path.relative_to(site), f"link leaves the site: {href}"))
            elif not target.is_file():
                problems.append((path.relative_to(site), f"broken link: {target.relative_to(site)}"))
            elif url.fragment and target.suffix == ".html" and not {url.fragment, unquote(url.fragment)} & ids[target]:
                # A browser looks for the fragment as written, then percent-decoded (the HTML standard).
                problems.append((path.relative_to(site), f"no anchor #{url.fragment} in {target.relative_to(site)}"))
    assert not problems, report(problems)


def test_no_console_errors_and_no_network(visits, site):
    problems = []
    for path, seen in visits.items():
        problems += [(path.relative_to(site), f"asks the network for {url}") for url in seen["network"]]
        problems += [(path.relative_to(site), f"console: {message}") for message in seen["console"]]
    assert not problems, report(problems)


def test_nothing_is_wider_than_the_page_or_clipped_at_1280px(visits, site):
    problems = []
    for path, seen in visits.items():
        if seen["pageWidth"] > seen["viewport"] + 1:
            problems.append(
                (path.relative_to(site), f"page is {seen['pageWidth']} px wide in a {seen['viewport']} px window")
            )
        problems += [(path.relative_to(site), f"content clipped in {what}") for what in seen["clipped"]]
    assert not problems, report(problems)
