"""Flask extensions, created unbound and bound in create_app()."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: limits per client address, only where a route asks (the sign-in); storage per configuration
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


@event.listens_for(Engine, "connect")
def _sqlite_connection(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys only when asked, per connection; and a database file is kept in
    write-ahead-log mode (a setting of the file), where readers never wait for a writer: pages and
    polls are answered while a large import is applied (writers still take turns)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_in_a_transaction(connection, name) -> None:
    """pysqlite opens a transaction only before a write: a SAVEPOINT that comes first would start a
    transaction of its own, which its RELEASE commits, whatever the outer transaction does later.
    Open the transaction first, so a savepoint is part of it on every database."""
    dbapi_connection = connection.connection.dbapi_connection
    if type(dbapi_connection).__module__.startswith("sqlite3") and not dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def schema_objects_for(dialect_name: str):
    """Alembic's include_object for one database: leaves out what the models create only on
    another database (``Index(...).ddl_if(dialect=...)``), so comparing the migrated schema with
    the models finds no difference there."""
    def include(obj, name, type_, reflected, compare_to):
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect_name)
    return include
