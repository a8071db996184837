"""The progress page of a background transfer, and its data for the page's script."""

from django.contrib import messages
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views import View

from transfers import jobs
from transfers.models import TransferJob
from transfers.web.presenters import jobs as job_presenters
from transfers.web.presenters.words import receipt_summary
from transfers.web.receipt_views import VIEW_TRANSFER_PERMISSION
from users.views import SettingsPermissionMixin

JOB_REFRESH_SECONDS = 2


class TransferJobMixin(SettingsPermissionMixin):
    extra_permissions = (VIEW_TRANSFER_PERMISSION,)

    def job_state(self, pk) -> jobs.JobState:
        job = get_object_or_404(TransferJob, pk=pk)
        return jobs.transfer_job_state(job=job)


class TransferJobView(TransferJobMixin, View):
    """Transfer in progress: the phase, the counts, a progress bar and the
    elapsed time, updated by static/js/app.js (a meta refresh without
    script); the receipt once done, the refusal or failure otherwise."""

    template_name = "transfers/transfer_job.html"

    def get(self, request, pk):
        state = self.job_state(pk)
        job = state.job
        if state.receipt is not None:
            messages.success(request, receipt_summary(state.receipt))
            return HttpResponseRedirect(state.receipt.get_absolute_url())
        return render(
            request,
            self.template_name,
            {
                "job": job,
                "state": job_presenters.job_state_data(state),
                "counts": state.counts,
                "refresh_seconds": JOB_REFRESH_SECONDS,
                "form_url": job_presenters.job_form_url(job),
                "form_label": job_presenters.job_form_label(job),
                "noun": job_presenters.job_noun(job),
            },
        )


class TransferJobStatusView(TransferJobMixin, View):
    """The progress page's data as JSON, polled by its script."""

    http_method_names = ["get", "head"]

    def get(self, request, pk):
        state = self.job_state(pk)
        data = job_presenters.job_state_data(state)
        data["page_url"] = state.job.get_absolute_url()
        response = JsonResponse(data)
        response["Cache-Control"] = "no-store"
        return response
