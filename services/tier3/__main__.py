"""`python -m services.tier3`"""

from shared.serve import serve

from services.tier3.settings import Tier3Settings
from services.tiers.main import create_app

if __name__ == "__main__":
    serve(create_app, Tier3Settings())
