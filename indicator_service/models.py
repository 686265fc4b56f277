"""Imports every module that defines tables, so that ``SQLModel.metadata`` is complete.

Alembic's environment and the schema-drift test import this module.
"""

from indicator_service.audit import models as audit_models  # noqa: F401
from indicator_service.auth import models as auth_models  # noqa: F401
from indicator_service.catalogue import models as catalogue_models  # noqa: F401
from indicator_service.core import idempotency  # noqa: F401
from indicator_service.monitoring import models as monitoring_models  # noqa: F401
from indicator_service.rectification import models as rectification_models  # noqa: F401
from indicator_service.scoring import models as scoring_models  # noqa: F401
from indicator_service.targets import models as targets_models  # noqa: F401
