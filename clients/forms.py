"""Grid options that are not filters: rows per page (validated, never trusted)."""

from django import forms

from clients.tables import DEFAULT_PER_PAGE, PER_PAGE_CHOICES


class GridOptionsForm(forms.Form):
    per_page = forms.TypedChoiceField(
        label="Rows per page",
        choices=[(str(n), str(n)) for n in PER_PAGE_CHOICES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_PER_PAGE,
    )

    def cleaned_per_page(self) -> int:
        if self.is_valid():
            return self.cleaned_data["per_page"] or DEFAULT_PER_PAGE
        return DEFAULT_PER_PAGE


def page_number(raw: str | None) -> int:
    """A page number from the URL: anything that is not a positive whole number is page 1."""
    try:
        number = int(raw or 1)
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else 1
