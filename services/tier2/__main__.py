"""`python -m services.tier2`"""

from shared.serve import serve

from services.tier2.settings import Tier2Settings
from services.tiers.main import create_app

if __name__ == "__main__":
    serve(create_app, Tier2Settings())
