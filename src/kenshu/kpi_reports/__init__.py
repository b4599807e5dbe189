"""kpi_reports"""
