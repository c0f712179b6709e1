"""Seeds the emergency templates a city starts with (editable in the admin). [Bracketed] parts must be
filled in before publishing."""

from django.db import migrations

TEMPLATES = [
    {
        "slug": "boil-water",
        "name": "Boil-water notice",
        "text": (
            "BOIL WATER NOTICE for [area]: until further notice, bring tap water to a rolling boil for one "
            "minute before drinking, cooking or brushing teeth. Bottled water is available at [location]. "
            "Updates: [link or phone]."
        ),
        "translations": {
            "es": (
                "AVISO DE HERVIR EL AGUA para [area]: hasta nuevo aviso, hierva el agua del grifo durante un "
                "minuto antes de beberla, cocinar o cepillarse los dientes. Hay agua embotellada en [location]. "
                "Novedades: [link or phone]."
            )
        },
    },
    {
        "slug": "road-closure",
        "name": "Road closure",
        "text": (
            "ROAD CLOSED: [street] is closed between [cross street] and [cross street] because of [reason]. "
            "Use [detour] instead. Expect delays until [time]."
        ),
        "translations": {
            "es": (
                "CALLE CERRADA: [street] está cerrada entre [cross street] y [cross street] por [reason]. "
                "Use [detour]. Habrá demoras hasta [time]."
            )
        },
    },
    {
        "slug": "shelter-in-place",
        "name": "Shelter in place",
        "text": (
            "SHELTER IN PLACE in [area] because of [reason]. Go indoors now, close windows and doors and stay "
            "inside until officials say it is safe. Call 911 only for emergencies."
        ),
        "translations": {
            "es": (
                "REFÚGIESE EN EL LUGAR en [area] por [reason]. Entre ahora, cierre puertas y ventanas y quédese "
                "adentro hasta que las autoridades digan que es seguro. Llame al 911 solo en emergencias."
            )
        },
    },
    {
        "slug": "evacuation",
        "name": "Evacuation order",
        "text": (
            "EVACUATION ORDER for [area] because of [reason]. Leave now by [route]. A shelter is open at "
            "[shelter address]. Take medicines, documents and pets."
        ),
        "translations": {
            "es": (
                "ORDEN DE EVACUACIÓN para [area] por [reason]. Salga ahora por [route]. Hay un refugio abierto en "
                "[shelter address]. Lleve medicinas, documentos y mascotas."
            )
        },
    },
    {
        "slug": "cooling-warming-center",
        "name": "Cooling or warming center open",
        "text": "[Cooling/Warming] center open at [address] from [start time] to [end time]. Pets on a leash welcome.",
        "translations": {},
    },
    {
        "slug": "all-clear",
        "name": "All clear",
        "text": "ALL CLEAR for [area]: the [emergency] is over and it is safe to [resume normal activity]. Thank you.",
        "translations": {},
    },
]


def seed(apps, schema_editor):  # noqa: ANN001, ANN201
    EmergencyTemplate = apps.get_model("governance", "EmergencyTemplate")
    for position, data in enumerate(TEMPLATES, start=1):
        EmergencyTemplate.objects.update_or_create(slug=data["slug"], defaults={**data, "position": position})


def unseed(apps, schema_editor):  # noqa: ANN001, ANN201
    apps.get_model("governance", "EmergencyTemplate").objects.filter(slug__in=[t["slug"] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
