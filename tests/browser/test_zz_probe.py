import pytest
pytestmark = pytest.mark.browser
LOG=[]
@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(transactional_db):
    from django.db import connection
    def wrapper(execute, sql, params, many, context):
        LOG.append(sql[:120])
        return execute(sql, params, many, context)
    yield
    print("triggers before flush", connection.cursor().execute("select name from sqlite_master where type='trigger'").fetchall())
    connection.execute_wrappers.append(wrapper)
def test_probe(live_server, world):
    pass
def test_probe2(live_server, world):
    print([l for l in LOG if 'audit' in l or 'TRIGGER' in l.upper()][:20])
