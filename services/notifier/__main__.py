"""`python -m services.notifier`"""

from shared.serve import serve

from services.notifier.main import create_app
from services.notifier.settings import NotifierSettings

if __name__ == "__main__":
    serve(create_app, NotifierSettings())
