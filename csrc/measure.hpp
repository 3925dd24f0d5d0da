// Record-level and per-lead waveform measurements from fiducials (docs/measurements.md), and the
// whole pipeline condition -> R peaks -> delineation -> measurements, batched over records.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "delineate.hpp"

namespace fgclep {
namespace delin {

constexpr int kRecordMeasures = 19;   // fgclep.leads.RECORD_MEASUREMENTS
constexpr int kPacedFraction = 18;    // its last entry, paced_fraction
constexpr int kPerLeadMeasures = 8;   // fgclep.leads.PER_LEAD_MEASUREMENTS
constexpr int kStdLeads = 12;         // fgclep.leads.LEADS_12
constexpr int kMeasures = kRecordMeasures + kPerLeadMeasures * kStdLeads;

// Measurements of one record in fgclep.leads.measurement_columns() order (NaN = not measurable).
// x: conditioned leads x[l * n + i]; fid: per-lead and global fiducials; std_index[k]: row of
// LEADS_12[k] in x or -1 when the record lacks that lead.
void measure(const double* x, int n_leads, std::ptrdiff_t n, double fs, const Fiducials& fid,
             const int* std_index, double* out);

// out[kPacedFraction]: the share of beats with a pacing stimulus before them (pacing.hpp), from
// one entry per beat (-1 = none); NaN below 250 Hz, where stimuli cannot be detected, or without beats.
void set_paced_fraction(const std::vector<std::int64_t>& spikes, double fs, double* out);

// Full pipeline for one raw record (non-finite samples allowed). cond (size n_leads * n) receives
// the conditioned signal; returns the fiducials and writes the measurements to out.
Fiducials analyze(const double* raw, int n_leads, std::ptrdiff_t n, double fs, const int* std_index,
                  double* cond, double* out);

// Batch of records raw[(r * n_leads + l) * n + i], in parallel over records; out (n_records,
// kMeasures). A record that fails for lack of memory is written as NaN.
void analyze_batch(const double* raw, std::ptrdiff_t n_records, int n_leads, std::ptrdiff_t n, double fs,
                   const int* std_index, double* out);

}  // namespace delin
}  // namespace fgclep
