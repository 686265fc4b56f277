"""The evaluator web interface: HTML pages under ``/ui`` with their static assets, and the form
upload operation ``POST /v1/forms/score`` (see ``docs/web.md``)."""
