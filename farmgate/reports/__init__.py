"""The township's figures: sales by village, cooperative and product, with charts and exports.

``summary`` keeps the daily facts (each day recomputed whole by the jobs in ``tasks``);
``service`` decides who may see which scope and builds the dashboard (``filters`` what is
asked, ``queries`` the reads, ``figures`` the tables, ``tables`` their columns and meanings);
``charts`` draws its SVGs and ``exports`` writes its tables as CSV and XLSX.
"""
