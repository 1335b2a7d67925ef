#pragma once
// The B2BUA's call records into the database's call-record store: each record gets a uuid and
// its legs and media figures become the row's JSON detail. record() runs on a shard thread and
// only queues (CallRecordStore::add).
#include <string>

#include "sb/call/call_record.h"
#include "sb/db/call_record_store.h"

namespace sb::app {

class CallRecordWriter final : public call::CallRecordSink {
  public:
    explicit CallRecordWriter(db::CallRecordStore& store) : store_(store) {}
    void record(call::CallRecord record) override;

  private:
    db::CallRecordStore& store_;
};

// The row for a record, with a fresh uuid. detail: {"call": the shard's call number,
// "answer_ms", "caller_media": {...}, "legs": [{"destination", "target", "status", "reason",
// "media": {...}}]}, media as in call::MediaRecord (absent figures left out).
db::CallRecordRow to_row(const call::CallRecord& record);

}  // namespace sb::app
