import sys

from ostrack_eval.cli.main import main

sys.exit(main())
