"""One set of Airflow DAGs per university of the universities folder.

``ISLANDBRIDGE_UNIVERSITIES_DIR`` names a folder of university entries (``<id>.yaml``:
its configuration, data folder, schedule, Celery queue); each gets
``<id>.campus_integration``, ``<id>.retention`` and ``<id>.analyst_refresh``
(docs/universities.md). Unset, this file defines no DAG. A refused entry shows as this
file's import error, naming it; the other universities' DAGs are unaffected.
"""

from __future__ import annotations

from islandbridge.university_dags import university_dags

globals().update(university_dags())
