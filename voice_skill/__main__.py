import sys

from voice_skill.cli import main

sys.exit(main())
