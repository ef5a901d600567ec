from casework import create_app
from casework.warm import warm_up

app = create_app()
if app.config["SETTINGS"].environment == "production":
    warm_up(app)  # the caches every worker's first requests would otherwise build (casework/warm.py)
