"""Committee files of a round: summary, HTML report (Jinja), CSV and XLSX.

- `committee`: `write_round_reports` writes them all (the entry point);
- `round_report`: `RoundReport`, what every file is made from;
- `files`: the output folder check and atomic writes; `tables`: the CSV files;
- `summary`: summary.json; `xlsx`: report.xlsx;
- `html_report` with `templates/` (Jinja, autoescaped) and `charts` (SVG): report.html.

May import: recommender.allocation (result, capacity), recommender.scoring.round_scores,
recommender.text and the shared modules (constants, errors, schemas). Never imports
recommender.rounds (which imports it).
"""
