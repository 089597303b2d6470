# The audit log moved to `core`: its table stays where it is (state only, no SQL).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("findings", "0007_change_heartbeat"),
        ("core", "0001_audit_log_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEvent")]),
    ]
