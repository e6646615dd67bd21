"""Package list for setuptools (the rest of the metadata is in pyproject.toml).

The prompts ship inside the package as `bot/prompts/<locale>/*.toml`, so a plain
`pip install .` can talk; the `prompts_dir` setting still overrides them. In a source checkout
the top-level `prompts/` folder is read directly.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot*", "adapters*", "alongside*"]), "bot.prompts"],
    package_dir={"bot.prompts": "prompts"},
    # Without these a plain install has no words and no database tables.
    package_data={
        "bot.prompts": ["*/*.toml"],
        "bot.storage.migrations": ["*.sql", "postgresql/*.sql"],
        # The prompts lint's word lists (one per locale) and its closed-question allowance.
        "bot.texts": ["lint_data/*.toml"],
    },
)
