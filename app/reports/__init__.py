"""Reports over the download events and the admin log: event queries, usage figures, rolled-up days,
and streamed, recorded exports. The API and the vendor and customer pages all read through here."""
