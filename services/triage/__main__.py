"""`python -m services.triage`"""

from shared.serve import serve

from services.triage.main import create_app
from services.triage.settings import TriageSettings

if __name__ == "__main__":
    serve(create_app, TriageSettings())
