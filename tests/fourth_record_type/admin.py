from django.contrib import admin

from tests.fourth_record_type.models import Memo


@admin.register(Memo)
class MemoAdmin(admin.ModelAdmin):
    search_fields = ["number", "title"]
