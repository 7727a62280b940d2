"""`python -m jupyter_mreg ...`: see `jupyter_mreg.cli`."""

import sys

from jupyter_mreg.cli import main

sys.exit(main())
