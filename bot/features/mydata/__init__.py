"""`mydata export`, `mydata forget` and the daily retention purge, in one package:

- `feature.py`: the commands and the purge job (`MyDataFeature`);
- `source.py`: what a feature provides to take part (`PersonalDataSource`);
- `core.py`: the core's own part (`CoreData`), reaching each table through its owner.

Each feature's own source lives in that feature's package as `personal_data.py` (pairing,
agreements; the questions feature's part is held by the core's), and each adapter's next to the
adapter; all are registered with `MyDataFeature`."""

from bot.features.mydata.core import CoreData
from bot.features.mydata.feature import COMMANDS, FORGET_ACTION, MyDataFeature
from bot.features.mydata.source import PersonalDataSource

__all__ = ["COMMANDS", "FORGET_ACTION", "CoreData", "MyDataFeature", "PersonalDataSource"]
