"""Paper-style reports: results loading (any layout), evaluation, tables, JSON and plots.

``pipeline.evaluate_runs`` turns ``--bench``/``--tracker`` into :class:`~ostrack_eval.reports.evaluate.BenchEval`
objects; ``tables.build_tables`` + ``render.render`` / ``jsonout.report_json`` / ``plots.save_plots`` present them.
"""
