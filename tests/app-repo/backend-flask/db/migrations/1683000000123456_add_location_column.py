from lib.db import db

class AddLocationColumnMigration:
  def migrate_sql():
    data = """
    ALTER TABLE public.users ADD COLUMN location text DEFAULT 'Babylon 5';
    """
    return data
  def rollback_sql():
    data = """
    ALTER TABLE public.users DROP COLUMN location;
    """
    return data

  def migrate():
    db.query_commit(AddLocationColumnMigration.migrate_sql(),{
    })

  def rollback():
    db.query_commit(AddLocationColumnMigration.rollback_sql(),{
    })

migration = AddLocationColumnMigration
