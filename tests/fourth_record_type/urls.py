from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path

from casengine import urls as project_urls
from tests.fourth_record_type.models import Memo


def memo_list(request):
    memos = Memo.objects.filter(owner_id=request.GET.get("owner") or None)
    return HttpResponse(", ".join(memos.values_list("title", flat=True)))


def memo_detail(request, pk):
    return HttpResponse(get_object_or_404(Memo, pk=pk).title)


urlpatterns = [
    path("memos/", memo_list, name="memo_list"),
    path("memos/<int:pk>/", memo_detail, name="memo_detail"),
    path("", include(project_urls)),
]
