from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.views.generic import DetailView, ListView

from clients.access import records_for_user
from clients.models import Case, Client, Matter


class VisibleRecordsMixin(LoginRequiredMixin):
    model = None

    def get_queryset(self):
        return records_for_user(self.request.user, self.model).select_related("owner")


class ClientListView(VisibleRecordsMixin, ListView):
    model = Client
    paginate_by = 50


class MatterListView(VisibleRecordsMixin, ListView):
    model = Matter
    paginate_by = 50


class CaseListView(VisibleRecordsMixin, ListView):
    model = Case
    paginate_by = 50


class RecordDetailView(VisibleRecordsMixin, DetailView):
    def get_object(self, queryset=None):
        try:
            return super().get_object(queryset)
        except Http404:
            raise Http404("No such record.") from None


class ClientDetailView(RecordDetailView):
    model = Client


class MatterDetailView(RecordDetailView):
    model = Matter


class CaseDetailView(RecordDetailView):
    model = Case
