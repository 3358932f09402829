"""`python -m docsgen`: write the reference pages of the documentation site."""

from docsgen import write_pages

for path in write_pages():
    print(f"wrote {path}")
