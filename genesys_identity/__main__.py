import sys

from genesys_identity.cli import main

sys.exit(main())
