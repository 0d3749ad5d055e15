"""The web workbench: server-rendered pages for agents, supervisors and analysts (R6, R10-R13)."""
