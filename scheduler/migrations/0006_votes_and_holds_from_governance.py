"""ApprovalVote, CrisisHold and PostHold move from governance (state only: the tables keep their names
governance_approvalvote, governance_crisishold (and governance_crisishold_departments), governance_posthold)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0002_emergency_templates'),
        ('departments', '0004_approvalstep_from_governance'),
        ('scheduler', '0005_sandbox_post_media'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CrisisHold',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('city_wide', models.BooleanField(default=True)),
                        ('reason', models.TextField()),
                        ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('ended_at', models.DateTimeField(blank=True, null=True)),
                        ('release_choice', models.CharField(blank=True, max_length=16)),
                        ('departments', models.ManyToManyField(blank=True, related_name='+', to='departments.department')),
                        ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('started_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_crisishold',
                        'ordering': ['-started_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='PostHold',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reason', models.TextField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('released_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('crisis', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='post_holds', to='scheduler.crisishold')),
                        ('post', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='holds', to='scheduler.post')),
                        ('released_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_posthold',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ApprovalVote',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('step_number', models.PositiveSmallIntegerField()),
                        ('step_name', models.CharField(max_length=100)),
                        ('content_hash', models.CharField(max_length=64)),
                        ('round_key', models.CharField(max_length=40)),
                        ('comment', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('post', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approval_votes', to='scheduler.post')),
                        ('voter', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_approvalvote',
                        'ordering': ['post_id', 'step_number', 'created_at', 'id'],
                        'constraints': [models.UniqueConstraint(fields=('post', 'voter', 'round_key'), name='one_vote_per_person_and_round')],
                    },
                ),
                migrations.AddIndex(
                    model_name='crisishold',
                    index=models.Index(fields=['ended_at'], name='crisis_hold_active_idx'),
                ),
                migrations.AddConstraint(
                    model_name='posthold',
                    constraint=models.UniqueConstraint(condition=models.Q(('released_at__isnull', True)), fields=('post',), name='one_open_hold_per_post'),
                ),
            ],
            database_operations=[],
        ),
    ]
