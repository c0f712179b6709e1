"""ApprovalStep moves from governance (state only: the table keeps its name governance_approvalstep,
and its users table governance_approvalstep_users)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0002_emergency_templates'),
        ('departments', '0003_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApprovalStep',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveSmallIntegerField(default=1)),
                        ('name', models.CharField(help_text='Shown on the post, such as “Department review”.', max_length=100)),
                        ('mode', models.CharField(choices=[('any', 'Any one of them'), ('all', 'All of them')], default='any', max_length=8)),
                        ('department_approvers', models.BooleanField(default=True, verbose_name='Approvers of the department (and its admins)')),
                        ('department_admins', models.BooleanField(default=False, verbose_name='Admins of the department')),
                        ('communications_managers', models.BooleanField(default=False, verbose_name='Communications managers')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('department', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='approval_steps', to='departments.department')),
                        ('users', models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='Named people')),
                    ],
                    options={
                        'db_table': 'governance_approvalstep',
                        'ordering': ['department__name', 'position', 'id'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
