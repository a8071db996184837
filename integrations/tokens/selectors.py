from django.db.models import QuerySet

from integrations.models import ApiToken


def api_tokens() -> QuerySet[ApiToken]:
    """Every token, newest first, with its creator."""
    return ApiToken.objects.select_related("created_by").order_by("-created_at", "-pk")
