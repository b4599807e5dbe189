"""Tests of kenshu.kpi_reports: attendance import, KPI counting and the report."""
