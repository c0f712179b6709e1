"""ApprovalStep moved to departments; ApprovalVote, CrisisHold and PostHold to scheduler. State only: the
tables stay, the other apps' migrations now own them."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('departments', '0004_approvalstep_from_governance'),
        ('scheduler', '0006_votes_and_holds_from_governance'),
        ('governance', '0002_emergency_templates'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='approvalvote',
                    name='post',
                ),
                migrations.RemoveField(
                    model_name='approvalvote',
                    name='voter',
                ),
                migrations.RemoveField(
                    model_name='crisishold',
                    name='departments',
                ),
                migrations.RemoveField(
                    model_name='crisishold',
                    name='ended_by',
                ),
                migrations.RemoveField(
                    model_name='crisishold',
                    name='started_by',
                ),
                migrations.RemoveField(
                    model_name='posthold',
                    name='crisis',
                ),
                migrations.RemoveField(
                    model_name='posthold',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='posthold',
                    name='post',
                ),
                migrations.RemoveField(
                    model_name='posthold',
                    name='released_by',
                ),
                migrations.DeleteModel(
                    name='ApprovalStep',
                ),
                migrations.DeleteModel(
                    name='ApprovalVote',
                ),
                migrations.DeleteModel(
                    name='CrisisHold',
                ),
                migrations.DeleteModel(
                    name='PostHold',
                ),
            ],
            database_operations=[],
        ),
    ]
