"""The screens: server-rendered pages for each role (Jinja2 + vendored htmx), mounted at `/`.

`routes.router` gathers sign-in, static assets and every area package under this one (`areas.py`);
`rendering`, `forms`, `error_pages` and `navigation` are what each area's screens are built from.
"""
