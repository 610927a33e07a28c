"""`python -m services.intake`"""

from shared.serve import serve

from services.intake.main import create_app
from services.intake.settings import IntakeSettings

if __name__ == "__main__":
    serve(create_app, IntakeSettings())
