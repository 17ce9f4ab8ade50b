"""The chance-queue study (`skranke-server simulate`): simulated Borgerservice days run
through the server's own domain functions, policies compared on common random numbers
against each day's hindsight optimum, and a report that answers the budget question.

params.py the parameters (default.toml documents them), world.py a day's draws,
engine.py one day under one policy, hindsight.py the optimum, metrics.py and study.py
the figures over many days, report.py the report, history.py parameters from recorded days.
"""
