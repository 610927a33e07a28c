"""`python -m services.tier1`"""

from shared.serve import serve

from services.tier1.settings import Tier1Settings
from services.tiers.main import create_app

if __name__ == "__main__":
    serve(create_app, Tier1Settings())
